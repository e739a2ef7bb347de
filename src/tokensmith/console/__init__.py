"""The web console, `/console` (docs/admin.md): plain HTML and a small script, served
from this package (static/), calling the admin API with a session cookie."""
