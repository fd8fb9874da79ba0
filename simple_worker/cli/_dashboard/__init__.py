"""``simple-worker dashboard APP``: a small web page of the app's queues and dead letters.

The modules, from the outside in: `_command` (the command: options, the token rule,
start and stop), `_server` (HTTP on the standard library's ``http.server``), `_site`
(the Host, token, CSRF and method checks, security headers, the routes), `_board` (the state
behind the page: counts sampled on a thread, dead letters read on demand, and the
redrive and purge actions, all through the SQS adapter and the other commands'
code), `_snapshot` (the values the page is made from) and `_page` (pure: a
snapshot in, HTML out; every value from a queue or a message is escaped), with its
script and style in `_assets`.
"""

from simple_worker.cli._dashboard._command import register

__all__ = ["register"]
