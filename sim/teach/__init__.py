"""Teaching negotiation dynamics: a narrated round (``trace``), what one lever would
take to reach an outcome (``whatif``), the figures of both (``figures``) and a browser
dashboard (``dashboard``, ``dashboard_app``). This layer sits above the core and the
batch runner and below the commands; the core never imports it."""
