"""Built-in reminder texts: varied, specific to the block, always fitting.

They go out whenever Claude's text is not there (no key, timeout, bad reply,
daily cap). The choice is seeded by the reminder key, so a resend after a
crash shows exactly the same text as the first try.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata

from notifier.texts.message import (
    BODY_MAX,
    TITLE_MAX,
    MessageContext,
    Text,
    clip,
    situation,
    span,
    time_of_day,
)

NAME_MAX = 40  # longer block titles are shortened with "…" so the sentence still fits
NOTES_MAX = 70  # only short notes are quoted; long ones would crowd out the rest
DEFAULT_NAME = "your study block"

BEFORE_TITLES = (
    "{name} in {span}",
    "{span} to {name}",
    "Heads up: {name}",
    "{name} starts soon",
    "T-minus {span}",
    "Psst, {name} in {span}",
)
BEFORE_BODIES = (
    "{name} starts in {span}. Grab some water, find your notes, and maybe put the phone "
    "face down. Yes, this one.",
    "Just so you know, {name} kicks off in {span}. Enough time to get comfy, not enough "
    "to start a new series.",
    "{span} until {name}. I'll pretend I didn't see you scrolling just now.",
    "Your {tod} plan says {name} in {span}. Future you is already saying thanks.",
    "{name} in {span}. Snacks now, excuses never.",
    "Tiny warning: {name} starts in {span}. Close a few tabs. You know which ones.",
    "In {span} it's {name} time. Set up now and start on time. For once. Kidding. Mostly.",
)
NOW_TITLES = (
    "{name} starts now",
    "It's time: {name}",
    "Now: {name}",
    "Go time!",
    "{name}, right now",
    "Showtime",
)
NOW_BODIES = (
    "{name} starts right now. Open the book, I believe in you. Mostly.",
    "It's {name} time. Phone down, brain on. You've got this.",
    "The clock says {name}. The couch will survive without you for a while.",
    "{name}, starting now. The first five minutes are the hardest, so just begin.",
    "Showtime for {name}. Go be annoyingly productive.",
    "{name} is on. Small steps count, so take the first one now.",
    "Right, {name}. Now. Not after one more video. Now.",
)
STARTED_TITLES = ("{name} is on", "Already going: {name}", "{name}: {span} in")
STARTED_BODIES = (
    "{name} started {span} ago. Not too late to slide in quietly.",
    "{name} has been going for {span}. Jump in, nobody's counting. Well, I am.",
    "You're {span} into {name}. Or you would be. Go on, catch up.",
)
LATE_TITLES = ("Sorry, late ping: {name}", "Late, but: {name}", "Oops, {name}", "Still on: {name}")
LATE_BODIES = (
    "I'm late with this one, sorry! {name} {start}. Still worth jumping in.",
    "Oops, this should have reached you earlier: {name} {start}. Better late than never, right?",
    "My bad, the computer dozed off. {name} {start}. Go, I'll stay quiet.",
    "Late reminder, same energy: {name} {start}. A short session still counts.",
)
NOTES_LINES = ("Your note says: {notes}", "Plan: {notes}", "Don't forget: {notes}")
PROGRESS_NONE = (
    "First block of the day, make it count.",
    "Nothing ticked off yet today. Let's change that.",
    "Today's score is still 0. Easy to fix.",
)
PROGRESS_SOME = (
    "{done} of {planned} done today, look at you.",
    "Already {done} down today, {left} to go.",
    "Score so far: {done} of {planned}. Keep it rolling.",
)
PROGRESS_ALL = (
    "You've done {done} today already. This one is a bonus.",
    "{done} done today. Overachiever, I see.",
)
TIME_OF_DAY_LINES = {
    "morning": ("Coffee first, obviously.", "Morning brain is sharp brain."),
    "afternoon": ("Post-lunch slump? Not today.", "Afternoon focus, let's go."),
    "evening": ("Evening brain works too, promise.", "One more push, then the evening is yours."),
    "night": ("Night owl mode, I see. Don't stay up too late.", "Late one tonight, keep it short."),
}
MISSED_TITLES = (
    "You missed {reminders}",
    "{reminders} slipped by",
    "While I was away…",
    "Catch-up time",
)
MISSED_BODIES = (
    "The computer was off, so {reminders} never went out. No stress: check today's plan "
    "and pick up where you can.",
    "I dozed off and {reminders} slipped past. Your plan is still there, go take a look.",
    "{reminders} went missing while I was offline. Tick off what you did and let's keep going.",
)
MISSED_LAST = "The last one was {name}."
SUMMARY_TITLES = (
    "Your {tod} plan: {blocks}",
    "Today: {blocks}",
    "Here's today's lineup",
    "{blocks} on the menu today",
)
SUMMARY_BODIES = ("Today's lineup: {items}.", "On the menu: {items}.", "Here's the plan: {items}.")
SUMMARY_OUTROS = (
    "You've got this.",
    "I'll nudge you before each one.",
    "Pace yourself, snacks allowed.",
)
YESTERDAY_ALL = ("Yesterday: all {planned} done.", "Yesterday: {done} of {planned} done. Again?")
YESTERDAY_SOME = (
    "Yesterday: {done} of {planned} done.",
    "Yesterday was {done} of {planned}. Today, more?",
)
YESTERDAY_NONE = ("Yesterday: 0 of {planned} done. Fresh start today.",)
EMPTY_TITLES = ("Nothing planned today", "A free day?", "No study blocks today")
EMPTY_BODIES = (
    "No study blocks today. Enjoy it, or sneak one in if you're feeling brave.",
    "Your plan is empty today. Rest counts too. So does one tiny session.",
    "Nothing on the schedule. Want to add a block, or is it a day off?",
)
REMINDER_TEXTS = {  # situation -> (titles, bodies)
    "before": (BEFORE_TITLES, BEFORE_BODIES),
    "now": (NOW_TITLES, NOW_BODIES),
    "started": (STARTED_TITLES, STARTED_BODIES),
    "late": (LATE_TITLES, LATE_BODIES),
}
TEST_TITLES = (
    "Test ping",
    "Is this thing on?",
    "Hello from your study buddy",
    "Testing, testing",
    "It works!",
)
TEST_BODIES = (
    "If you can read this, notifications work. Now go study something, I'll be watching.",
    "All set up. I'll text you before each block, so try not to ignore me.",
    "Just checking in. This is what my reminders look like. Cute, right?",
    "Notifications work! Consider yourself officially nagged from now on.",
)


CHECK_TITLES = ("How did {name} go?", "{name}: done?", "Time's up: {name}", "So, {name}?")
CHECK_BODIES = (
    "{name} just ended. Done, not done, or a few more minutes? One tap either way.",
    "That was {name}. Did it happen? Be honest, I won't tell anyone.",
    "{name} is over. Tick it off if you did it, or grab a few more minutes.",
)


def fallback_text(ctx: MessageContext) -> Text:
    """A built-in text for `ctx`: the same seed and context always give the same text."""
    rng = random.Random(hashlib.sha256(ctx.seed.encode("utf-8", "replace")).digest())
    if ctx.kind == "summary":
        title, body = _summary(ctx, rng)
    elif ctx.kind == "missed":
        title, body = _missed(ctx, rng)
    elif ctx.kind == "test":
        title, body = rng.choice(TEST_TITLES), rng.choice(TEST_BODIES)
    elif ctx.kind == "check":
        name = _name(ctx.block_title)
        title = _render(rng.choice(CHECK_TITLES), TITLE_MAX, name)
        body = _render(rng.choice(CHECK_BODIES), BODY_MAX, name)
    else:
        title, body = _reminder(ctx, rng)
    return Text(clip(title, TITLE_MAX), clip(body, BODY_MAX), "fallback")


def _reminder(ctx: MessageContext, rng: random.Random) -> tuple[str, str]:
    name = _name(ctx.block_title)
    minutes = ctx.minutes_until
    titles, bodies = REMINDER_TEXTS[situation(ctx)]
    values = {
        "span": span(abs(minutes)),
        "start": _start(minutes),
        "tod": time_of_day(ctx.local_time),
    }
    title = _render(rng.choice(titles), TITLE_MAX, name, **values)
    body = _render(rng.choice(bodies), BODY_MAX, name, **values)
    extras = []
    notes = _plain(ctx.block_notes)
    if notes and len(notes) <= NOTES_MAX and rng.random() < 0.5:
        extras.append(rng.choice(NOTES_LINES).format(notes=_sentence(notes)))
    if ctx.planned_today > 0 and rng.random() < 0.6:
        extras.append(_progress(ctx.done_today, ctx.planned_today, rng))
    if rng.random() < 0.4:
        extras.append(rng.choice(TIME_OF_DAY_LINES[values["tod"]]))
    return title, _join(body, extras)


def _missed(ctx: MessageContext, rng: random.Random) -> tuple[str, str]:
    count = max(1, ctx.missed_count)
    reminders = f"{count} reminder" + ("" if count == 1 else "s")
    title = rng.choice(MISSED_TITLES).format(reminders=reminders)
    body = rng.choice(MISSED_BODIES).format(reminders=reminders)
    extras = []
    if _plain(ctx.block_title):
        extras.append(MISSED_LAST.format(name=_name(ctx.block_title)))
    if ctx.planned_today > 0 and rng.random() < 0.5:
        extras.append(_progress(ctx.done_today, ctx.planned_today, rng))
    return title, _join(body, extras)


def _summary(ctx: MessageContext, rng: random.Random) -> tuple[str, str]:
    count = len(ctx.summary_items)
    if not count:
        return rng.choice(EMPTY_TITLES), _join(rng.choice(EMPTY_BODIES), _yesterday(ctx, rng))
    blocks = f"{count} study block" + ("" if count == 1 else "s")
    title = rng.choice(SUMMARY_TITLES).format(tod=time_of_day(ctx.local_time), blocks=blocks)
    template = rng.choice(SUMMARY_BODIES)
    room = BODY_MAX - len(template.format(items=""))
    body = template.format(items=_item_list(ctx.summary_items, room))
    return title, _join(body, [*_yesterday(ctx, rng), rng.choice(SUMMARY_OUTROS)])


def _yesterday(ctx: MessageContext, rng: random.Random) -> list[str]:
    """Yesterday's result in one sentence, when anything was planned yesterday."""
    if ctx.yesterday is None:
        return []
    done, planned = ctx.yesterday
    lines = YESTERDAY_ALL if done == planned else YESTERDAY_NONE if not done else YESTERDAY_SOME
    return [rng.choice(lines).format(done=done, planned=planned)]


def _item_list(items: tuple[tuple[str, str], ...], room: int) -> str:
    """ "09:00 Maths, 14:00 Physics and 2 more", as many items as fit in `room`."""
    shown = [f"{_plain(hhmm)} {_name(title)}".strip() for hhmm, title in items]
    for keep in range(len(shown), 0, -1):
        rest = len(shown) - keep
        if rest:
            text = ", ".join(shown[:keep]) + f" and {rest} more"
        elif keep > 1:
            text = ", ".join(shown[: keep - 1]) + " and " + shown[keep - 1]
        else:
            text = shown[0]
        if len(text) <= room:
            return text
    return clip(shown[0], room)


def _progress(done: int, planned: int, rng: random.Random) -> str:
    if done <= 0:
        return rng.choice(PROGRESS_NONE)
    lines = PROGRESS_SOME if done < planned else PROGRESS_ALL
    return rng.choice(lines).format(done=done, planned=planned, left=planned - done)


def _join(body: str, extras: list[str]) -> str:
    """`body` plus each extra sentence that still fits."""
    for extra in extras:
        if len(body) + 1 + len(extra) <= BODY_MAX:
            body = f"{body} {extra}"
    return body


def _render(template: str, limit: int, name: str, **values: str) -> str:
    """Fill a template, shortening the block name (not the rest) if it would not fit."""
    text = template.format(name=name, **values)
    if len(text) > limit and "{name}" in template:
        room = limit - (len(text) - len(name) * template.count("{name}"))
        text = template.format(name=clip(name, max(room, 4)), **values)
    return _capital(clip(text, limit))


def _capital(text: str) -> str:
    # Only the built-in name starts lower case; a user's title keeps its spelling ("iOS").
    return text[:1].upper() + text[1:] if text.startswith(DEFAULT_NAME) else text


def _plain(text: str) -> str:
    """One line of text without control characters."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join(text.split())


def _name(title: str) -> str:
    return clip(_plain(title), NAME_MAX) or DEFAULT_NAME


def _sentence(text: str) -> str:
    return text if text[-1] in ".!?…" else text + "."


def _start(minutes: int) -> str:
    if minutes > 0:
        return f"starts in {span(minutes)}"
    return "starts now" if minutes == 0 else f"started {span(-minutes)} ago"
