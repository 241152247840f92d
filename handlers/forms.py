"""Forms: a Reply part with fields to fill in, sent back as a whole.

A form is saved by a command of its own (registered with `form=` the line that opens it), whose
arguments are the form's fields: each titled with its label, described with a hint, and marked
in `json_schema_extra` with its `kind`, whether it is `required` and its `group`. Every door
sends back the values by field name; email and the console also read and write them as
`Label: value` lines.

The token names the customer and the saving command, signed and expiring: a form sent back by
someone else, or long after, is refused as such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic.fields import FieldInfo

from core.kernel.errors import NotAllowed, PortalError
from core.kernel.portal import Portal
from core.kernel.security import TokenError, TokenExpired, sign, verify
from handlers.registry import Command
from handlers.reply import LINES, TEXT, Form, FormField

PURPOSE = "form"
TTL = 3 * 24 * 3600  # seconds a form may be sent back: long enough to answer an email later
TOKEN_LABEL = "Form"
TOKEN_LINE = re.compile(rf"^[>\s]*{TOKEN_LABEL}:\s*([0-9A-Za-z.\-]+)\s*$", re.M | re.I)
FIELD_LINE = re.compile(r"^\s*([^:\n]{1,40}?)\s*:[ \t]?(.*?)\s*$")


class FormRefused(PortalError):
    pass


def token(portal: Portal, customer_id: int, command: Command) -> str:
    return sign(portal.secret, PURPOSE, [customer_id, command.name], TTL, now=portal.now().timestamp())


def opened(portal: Portal, token_text: str) -> tuple[int, str]:
    """(customer id, saving command's name) of a form's token."""
    try:
        customer_id, name = verify(portal.secret, PURPOSE, token_text.strip(),
                                   now=portal.now().timestamp())
        return int(customer_id), name
    except TokenExpired:
        raise FormRefused("That form has expired. Ask for it again and fill it in anew.") from None
    except (TokenError, ValueError):
        raise FormRefused("That form is not one we sent, or it was changed on the way.") from None


def check_owner(customer_id: int, caller_customer_id: int | None) -> None:
    if customer_id != caller_customer_id:
        raise NotAllowed("That form was made for another account; only its owner can send it back.")


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def fields_of(command: Command) -> list[tuple[str, FieldInfo]]:
    return list(command.arguments.model_fields.items())


def label_of(name: str, info: FieldInfo) -> str:
    return info.title or name.replace("_", " ").capitalize()


def fields(command: Command, values: Mapping[str, str] | None = None,
           errors: Mapping[str, str] | None = None) -> tuple[FormField, ...]:
    """The fields of the form `command` saves, holding `values` (and `errors`)."""
    values, errors = values or {}, errors or {}
    found = []
    for name, info in fields_of(command):
        extra = _extra(info)
        limit = next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), None)
        found.append(FormField(
            name=name, label=label_of(name, info), kind=str(extra.get("kind", TEXT)),
            required=bool(extra.get("required")), value=values.get(name) or "",
            choices=tuple(extra.get("choices", ())), error=errors.get(name), hint=info.description,
            max_length=int(extra.get("max_length") or limit or 0) or None,
            group=extra.get("group") if isinstance(extra.get("group"), str) else None))
    return tuple(found)


def build(portal: Portal, customer_id: int, command: Command, values: Mapping[str, str], *,
          title: str, intro: str | None = None, errors: Mapping[str, str] | None = None,
          submit_label: str = "Save") -> Form:
    """The form `command` saves, holding `values` (and `errors`, what was wrong with them)."""
    assert command.form is not None, f"{command.name} saves no form"
    return Form(title=title, token=token(portal, customer_id, command),
                fields=fields(command, values, errors), reopen=command.form, intro=intro,
                submit_label=submit_label)


def lines(form: Form) -> list[str]:
    """The form as `Label: value` lines, its token first; a field of several lines repeats its
    label on each."""
    out = [f"{TOKEN_LABEL}: {form.token}"]
    for item in form.fields:
        values = item.value.split("\n") if item.kind == LINES and item.value else [item.value]
        out += [f"{item.label}: {value}".rstrip() for value in values]
    return out


def token_in(text: str) -> str | None:
    """The token of a `Form: <token>` line, quoted or not."""
    found = TOKEN_LINE.search(text)
    return found.group(1) if found else None


def read_lines(command: Command, text: str) -> dict[str, str]:
    """The values of `Label: value` lines for `command`'s form, by field name. Labels are
    matched whatever their case (or by the field's name); lines that are not the form's are
    passed over; a field of several lines gathers every line with its label."""
    by_label: dict[str, tuple[str, FieldInfo]] = {}
    for name, info in fields_of(command):
        for key in (label_of(name, info), name, name.replace("_", " ")):
            by_label[key.casefold()] = (name, info)
    found: dict[str, list[str]] = {}
    for raw in text.replace("\r\n", "\n").split("\n"):
        match = FIELD_LINE.match(raw.lstrip("> \t") if raw.lstrip().startswith(">") else raw)
        if not match or match.group(1).casefold() == TOKEN_LABEL.casefold():
            continue
        known = by_label.get(" ".join(match.group(1).split()).casefold())
        if known is None:
            continue
        name, info = known
        if _extra(info).get("kind") == LINES:
            found.setdefault(name, []).append(match.group(2))
        elif name not in found:  # the first line of a field counts
            found[name] = [match.group(2)]
    return {name: "\n".join(part for part in parts if part) if len(parts) > 1 else parts[0]
            for name, parts in found.items()}
