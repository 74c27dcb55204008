"""Server-rendered pages: the API documentation (``/docs``, ``/redoc``) and the explorer (``/``).

Each module installs its page and the static assets it serves from the package (``static/``), so
the pages work offline and in air-gapped deployments. They answer HTML, not API resources, and are
kept out of the OpenAPI document.
"""
