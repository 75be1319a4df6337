"""The hub page end to end, with real parts only: a real JupyterHub (the referee's, with
DummyAuthenticator and configurable-http-proxy) running ``validate-image-service serve``
as a hub-managed service, a real private registry (TLS, a login) holding two test images
built in this run, and Debian's Chromium driven by Selenium through Debian's
chromedriver (the path is given: nothing downloads a browser).

A user logs in through the hub's OAuth, checks a broken image and a good one, and sees
both verdicts and the failing check's fix; another user gets 404 on the first one's
check; a stored registry token is nowhere in the page, the service's log or the
database in plain text, and goes when its configuration is deleted; after logout the
page sends the browser to the hub's login. Screenshots go to ``$JHIV_ARTIFACTS``
(default /tmp/jhiv-artifacts); docs/images/ holds copies.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import sqlite3
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from tests.referee.hub import RealHub, default_venv
from tests.support.registry import REGISTRY_BIN, TestRegistry, free_port
from tests.support.skip import unavailable
from validator.service.secretbox import generate_key

pytestmark = [pytest.mark.docker, pytest.mark.referee]

REPO = Path(__file__).resolve().parents[2]
SERVICE = "image-check"
PREFIX = f"/services/{SERVICE}/"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REGISTRY_USER = "jhiv-page-user"
# The registry's password, typed into the form as the token: it must never come back.
TOKEN = "jhiv-page-" + secrets.token_urlsafe(18)
ADMIN = "admin-" + secrets.token_hex(16)
# A validation pulls nothing (the images are local), starts the image and probes it.
VERDICT_TIMEOUT = 300


def artifacts_dir() -> Path:
    path = Path(os.environ.get("JHIV_ARTIFACTS") or "/tmp/jhiv-artifacts") / "hub-page"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Site:
    hub: RealHub
    registry: TestRegistry
    service_port: int
    database: Path
    driver: Any
    images: dict[str, str]
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def page(self) -> str:
        return self.hub.public_url + PREFIX

    def report(self, check_id: str, user: str) -> dict[str, Any]:
        """The validation as the service's API holds it (the admin token, acting for user)."""
        answer = requests.get(
            f"http://127.0.0.1:{self.service_port}/api/v1/validations/{check_id}",
            headers={"Authorization": f"Bearer {ADMIN}", "X-JHIV-User": user},
            timeout=10,
        )
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def stored_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.database.parent.glob("service.sqlite3*"))


def _shot(driver: Any, name: str) -> None:
    """A screenshot of the whole page, not only the window (Chromium's DevTools call)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    (artifacts_dir() / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container: Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--no-first-run",
    ):
        options.add_argument(argument)
    # The driver's path given: Selenium Manager never runs, so nothing is downloaded.
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def _service_config(site_dir: Path, port: int, bundle: Path) -> tuple[str, ...]:
    admin_file = site_dir / "admin-token"
    keys_file = site_dir / "secret-keys"
    admin_file.write_text(ADMIN)
    keys_file.write_text(generate_key())
    for secret in (admin_file, keys_file):
        secret.chmod(0o600)
    service = {
        "name": SERVICE,
        "url": f"http://127.0.0.1:{port}",
        "command": [sys.executable, "-m", "validator.service", "serve"],
        "environment": {
            "PYTHONPATH": str(REPO),
            "JHIV_SERVICE_ADMIN_TOKEN_FILE": str(admin_file),
            "JHIV_SERVICE_SECRET_KEYS_FILE": str(keys_file),
            "JHIV_SERVICE_DATABASE_URL": f"sqlite:///{site_dir / 'service.sqlite3'}",
            "JHIV_SERVICE_CONCURRENCY": "2",
            # The page is under test, not JupyterLab's start on one CPU of a loaded CI
            # machine (the good image's first answer came 27.8 s into a 30 s limit once).
            "JHIV_SERVICE_CANDIDATE_CPUS": "2",
            # The service's machine trusts the registry's CA.
            "REQUESTS_CA_BUNDLE": str(bundle),
            "JHIV_ROOT_IMAGE": os.environ.get("JHIV_ROOT_IMAGE", ""),
        },
        "oauth_no_confirm": True,
    }
    role = {"name": "user", "scopes": ["self", f"access:services!service={SERVICE}"]}
    return (
        "c.Authenticator.allow_all = True",
        f"c.JupyterHub.services.append({service!r})",
        f"c.JupyterHub.load_roles.append({role!r})",
    )


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if predicate():
                return
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    build_image: Callable[[str], str],
) -> Iterator[Site]:
    venv = default_venv()
    if not (venv / "bin" / "jupyterhub").exists():
        unavailable(f"no referee venv at {venv}: run scripts/setup-referee.sh")
    for tool in (REGISTRY_BIN, "htpasswd", "openssl"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing: run scripts/setup-registry.sh")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        unavailable(
            "Debian's chromium and chromium-driver are missing: run scripts/setup-browser.sh"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        unavailable("selenium is missing: run scripts/setup-browser.sh")

    site_dir = tmp_path_factory.mktemp("hub-page")
    registry = TestRegistry(site_dir / "registry", username=REGISTRY_USER, password=TOKEN)
    registry.start()
    stack = contextlib.ExitStack()
    stack.callback(registry.stop)
    try:
        assert registry.ca_cert is not None
        system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
        bundle = site_dir / "trusted.pem"
        bundle.write_bytes(system.read_bytes() + b"\n" + registry.ca_cert.read_bytes())
        images = {}
        for name in ("hub-only", "good"):
            registry.push(docker_client, build_image(name), f"team/{name}", "v1")
            images[name] = f"https://{registry.host}/team/{name}:v1"
        port = free_port()
        hub = RealHub(
            venv,
            docker_client=docker_client,
            authenticator="dummy",
            extra_config=_service_config(site_dir, port, bundle),
        )
        stack.enter_context(hub)
        _wait_for(
            lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200,
            60,
            "the hub-managed service answers",
        )
        driver = _browser()
        stack.callback(driver.quit)
        driver.set_page_load_timeout(60)
        yield Site(hub, registry, port, site_dir / "service.sqlite3", driver, images)
    finally:
        stack.close()


# --- browser steps ----------------------------------------------------------------------


def _log_in(driver: Any, page: str, user: str) -> None:
    """Open the page; the hub's login form comes first (OAuth), then the page itself."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page)
    WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "username_input")))
    assert "/hub/login" in driver.current_url
    driver.find_element(By.ID, "username_input").send_keys(user)
    driver.find_element(By.ID, "password_input").send_keys("any password")
    driver.find_element(By.ID, "login_submit").click()
    WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "image")))
    assert driver.current_url.startswith(page)


def _wait_for_element(driver: Any, element_id: str, timeout: float = 30) -> Any:
    """The element once the page that has it is there (a click on submit returns before
    the next page has loaded)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.ID, element_id)))


def _fill(driver: Any, **fields: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name, value in fields.items():
        if name == "profile":
            Select(driver.find_element(By.ID, "profile")).select_by_value(value)
        elif name == "save":
            driver.find_element(By.ID, "save").click()
        else:
            element = driver.find_element(By.ID, name)
            element.clear()
            element.send_keys(value)


def _submit_and_wait(site: Site, name: str) -> str:
    """Submit the form; return the check's id once its verdict is on the page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = site.driver
    driver.find_element(By.ID, "check").click()
    WebDriverWait(driver, 30).until(ec.url_contains("/checks/od-"))
    check_id = str(driver.current_url).rsplit("/", 1)[-1]
    driver.save_screenshot(str(artifacts_dir() / f"{name}-progress.png"))
    WebDriverWait(driver, VERDICT_TIMEOUT).until(ec.presence_of_element_located((By.ID, "verdict")))
    site.checks[name] = check_id
    _shot(driver, f"{name}-report")
    return check_id


# --- the tests, in the order a user goes ------------------------------------------------


def test_a_broken_image_shows_incompatible_and_the_failing_checks_fix_first(site: Site) -> None:
    from selenium.webdriver.common.by import By

    driver = site.driver
    _log_in(driver, site.page, "ada")
    driver.save_screenshot(str(artifacts_dir() / "form.png"))
    _fill(
        driver,
        image=site.images["hub-only"],
        registry=site.registry.url,
        username=REGISTRY_USER,
        token=TOKEN,
        mount_path="/home/jovyan/work",
        profile="dockerspawner",
    )
    check_id = _submit_and_wait(site, "broken")
    verdict = driver.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "incompatible"

    report = site.report(check_id, "ada")["report"]
    failed = [f for f in report["findings"] if f["status"] == "fail"]
    assert failed, report
    rows = driver.find_elements(By.CSS_SELECTOR, "#rows > li")
    assert len(rows) == len(report["findings"])
    # The failing checks come first, unfolded, in the run's order, each with its fix.
    shown = [row.get_attribute("data-check") for row in rows[: len(failed)]]
    assert shown == [f["id"] for f in failed]
    first = rows[0]
    assert first.get_attribute("data-status") == "fail"
    assert first.find_element(By.CSS_SELECTOR, "pre.fix").text.strip() == failed[0]["fix"].strip()
    assert first.find_element(By.CSS_SELECTOR, "p.cause").text.strip()
    assert failed[0]["message"] in first.find_element(By.CSS_SELECTOR, "p.message").text
    # The same report on a phone: one column, nothing cut off sideways.
    driver.set_window_size(390, 900)
    try:
        wide = driver.execute_script("return document.documentElement.scrollWidth")
        assert wide <= 390, f"the page is {wide} px wide on a 390 px screen"
        _shot(driver, "broken-report-narrow")
    finally:
        driver.set_window_size(1280, 1000)


def test_a_good_image_saved_with_its_token_is_compatible(site: Site) -> None:
    from selenium.webdriver.common.by import By

    driver = site.driver
    driver.get(site.page)
    _fill(
        driver,
        image=site.images["good"],
        registry=site.registry.host,
        username=REGISTRY_USER,
        token=TOKEN,
        profile="dockerspawner",
        save="1",
    )
    check_id = _submit_and_wait(site, "good")
    stored = site.report(check_id, "ada")
    failing = [
        (f["id"], f["message"])
        for f in (stored["report"] or {}).get("findings", ())
        if f["status"] in ("fail", "error")
    ]
    assert driver.find_element(By.ID, "verdict").get_attribute("data-verdict") == "compatible", (
        stored["error"],
        failing,
    )
    assert not driver.find_elements(By.CSS_SELECTOR, "#rows > li[data-status='fail']")
    assert TOKEN not in driver.page_source
    assert stored["verdict"] == "compatible" and stored["configuration_id"] is not None

    driver.get(site.page)
    cards = driver.find_elements(By.CSS_SELECTOR, "#configurations > li")
    assert len(cards) == 1 and "token stored" in cards[0].text
    recent = driver.find_element(By.ID, "recent").text
    assert "compatible" in recent and "incompatible" in recent
    _shot(driver, "form-with-lists")
    assert TOKEN not in driver.page_source


def test_bad_input_is_a_message_next_to_the_field(site: Site) -> None:
    from selenium.webdriver.common.by import By

    driver = site.driver
    driver.get(site.page)
    _fill(driver, image=f"{REGISTRY_USER}:{TOKEN}@{site.registry.host}/team/good:v1", token=TOKEN)
    driver.find_element(By.ID, "check").click()
    error = _wait_for_element(driver, "image-error")
    assert "login before '@'" in error.text
    assert driver.find_element(By.ID, "image").get_attribute("aria-invalid") == "true"
    assert TOKEN not in driver.page_source
    driver.save_screenshot(str(artifacts_dir() / "form-error.png"))

    # The same session without the form's CSRF token (another site's form): refused.
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    for extra in ({}, {"_csrf": "forged"}):
        forged = requests.post(
            f"{site.page}checks",
            data={"image": site.images["good"], **extra},
            cookies=cookies,
            allow_redirects=False,
            timeout=10,
        )
        assert forged.status_code == 403, forged.text[:300]
    with sqlite3.connect(site.database) as db:
        assert db.execute("SELECT count(*) FROM requests").fetchone() == (len(site.checks),)


def test_another_user_gets_404_on_the_first_users_check(site: Site) -> None:
    from selenium.webdriver.common.by import By

    other = _browser()
    try:
        _log_in(other, site.page, "bob")
        for check_id in site.checks.values():
            other.get(f"{site.page}checks/{check_id}")
            assert other.find_element(By.TAG_NAME, "h1").text == "Not found"
        # Nor are ada's configurations or checks listed for bob.
        other.get(site.page)
        assert not other.find_elements(By.CSS_SELECTOR, "#configurations > li")
        assert not other.find_elements(By.ID, "recent")
    finally:
        other.quit()
    status = requests.get(f"{site.page}checks/{site.checks['broken']}", timeout=10)
    assert "/hub/login" in status.url  # no session at all: the hub's login


def test_the_stored_token_is_nowhere_in_plain_text_and_goes_with_its_configuration(
    site: Site,
) -> None:
    from selenium.webdriver.common.by import By

    assert TOKEN.encode() not in site.stored_bytes()
    assert TOKEN not in site.hub.log_path.read_text(errors="replace")  # the service logs there
    with sqlite3.connect(site.database) as db:
        (ciphertext,) = db.execute("SELECT ciphertext FROM configuration_secrets").fetchone()
    assert ciphertext.encode() in site.stored_bytes()

    driver = site.driver
    driver.get(site.page)
    card = driver.find_element(By.CSS_SELECTOR, "#configurations > li")
    card.find_element(By.CSS_SELECTOR, "button.danger").click()
    driver.switch_to.alert.accept()  # page.js asks first
    notice = _wait_for_element(driver, "notice")
    assert "deleted" in notice.text
    assert not driver.find_elements(By.CSS_SELECTOR, "#configurations > li")
    with sqlite3.connect(site.database) as db:
        assert db.execute("SELECT count(*) FROM configuration_secrets").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM request_secrets").fetchone() == (0,)
    stored = site.stored_bytes()
    assert ciphertext.encode() not in stored and TOKEN.encode() not in stored
    assert TOKEN not in site.hub.log_path.read_text(errors="replace")


def test_after_logout_the_page_sends_the_browser_to_the_hubs_login(site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = site.driver
    driver.get(site.page)
    check_url = f"{site.page}checks/{site.checks['broken']}"
    driver.find_element(By.ID, "logout").click()
    WebDriverWait(driver, 30).until(ec.url_contains("/hub/"))
    driver.get(check_url)
    WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "username_input")))
    assert "/hub/login" in driver.current_url
    assert "incompatible" not in driver.page_source
