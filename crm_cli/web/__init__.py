"""`crm serve`: one ASGI app for every store (LINE webhook, counter API, health; member
and staff pages mount here too). Routes are thin, the web twin of ``crm_cli/cli``:
parse, one transaction, one service call, render."""
