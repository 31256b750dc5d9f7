"""The one wait helper."""
import time


class NotWithin(AssertionError):
    """`eventually` gave up."""


def eventually(condition, seconds, what, step=0.1):
    """The first truthy value `condition()` returns within `seconds`. An exception counts as "not yet" (a
    server still starting); the last one is reported if the time runs out. `seconds` is when to give up
    on a hung system, not a measurement: time what you want to report yourself."""
    deadline = time.monotonic() + seconds
    last = None
    while True:
        try:
            value = condition()
            if value:
                return value
            last = None
        except Exception as error:  # noqa: BLE001 - any failure of the condition is "not yet"
            last = error
        if time.monotonic() >= deadline:
            raise NotWithin(f"not within {seconds} s: {what}" + (f" (last: {last!r})" if last else ""))
        time.sleep(step)
