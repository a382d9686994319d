"""The catalog web page's static files (``static/``), served by ``api/ui.py``."""
