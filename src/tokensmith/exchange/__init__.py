"""One token exchange: a token request decided in steps (parse → authenticate →
authorise → issue) by generators that ask their caller for every piece of I/O they
need (exchange/needs.py), run by one driver (exchange/driver.py) that answers at once
what it can and awaits the rest. The HTTP layer only reads bytes in and writes the
outcome out (http/token_route.py)."""
