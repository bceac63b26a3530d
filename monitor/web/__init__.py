"""The read-only web UI and JSON API (`warcwatch serve`): Starlette routes, Jinja2 templates."""
