"""One parser per wire format, each a pure function from the decoded body to Parsed.

| receiver | format | parser |
|---|---|---|
| distribution, gitlab | CNCF distribution ``events.v1+json`` / ``events.v2+json`` | ``distribution.parse`` |
| harbor | Harbor default and CloudEvents | ``harbor.parse`` |
| github | ``registry_package`` / ``package`` events | ``github.parse`` |
| dockerhub | Docker Hub repository webhook | ``dockerhub.parse`` |
| quay | Quay repository push notification | ``quay.parse`` |
"""
