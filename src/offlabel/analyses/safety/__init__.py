"""Tolerability (`type: tolerability`) and adverse events on and off treatment (`type: adverse_events`),
on the treatment episodes (drug eras) of new users that `treatment` builds."""
