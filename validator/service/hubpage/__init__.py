"""The hub page (issue #17): ``validate-image-service`` as a JupyterHub service with a
web page where hub users check an image configuration before they use it.

``hubenv`` reads what the hub tells its services, ``auth`` logs users in through the
hub's OAuth (JupyterHub's ``HubOAuth``), ``sessions`` keeps their logins, ``forms``
turns the posted form into the on-demand API's request, ``views`` turns a stored
validation into what the check page shows, ``routes`` serves it all under the
service's prefix. docs/jupyterhub.md is the operator's guide.
"""
