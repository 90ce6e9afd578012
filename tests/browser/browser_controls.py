"""Move an ipywidgets control in the page the way a learner does.

- Dropdown: a native `<select>`, an option picked by its label;
- slider (noUiSlider handle): focus the handle and press Home / End / arrow keys (each key
  press is committed at once, even with `continuous_update=False`);
- number or text box: type the value and press Enter;
- toggle buttons, radio buttons, checkbox: click.

`plan` entries come from `kernel_dump.control_plan`: {"value", "label", "index"}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # playwright is only needed when the browser tests run
    from playwright.sync_api import Locator


def move(control: Locator, start: dict[str, Any], target: dict[str, Any], count: int) -> str:
    """Move `control` from `start` to `target`; return what was done, for messages."""
    select = control.locator("select")
    if select.count():
        select.first.select_option(label=target["label"])
        return f"picked {target['label']!r} in the dropdown"
    handle = control.locator(".noUi-handle")
    if handle.count():
        return press_slider(handle.first, start["index"], target["index"], count)
    toggles = control.locator("button.widget-toggle-button")
    if toggles.count():
        toggles.filter(has_text=target["label"]).first.click()
        return f"clicked the {target['label']!r} toggle button"
    radios = control.locator(".widget-radio-box label")
    if radios.count():
        radios.filter(has_text=target["label"]).first.click()
        return f"clicked the {target['label']!r} radio button"
    checkbox = control.locator("input[type=checkbox]")
    if checkbox.count():
        checkbox.first.set_checked(bool(target["value"]))
        return f"set the checkbox to {target['value']}"
    box = control.locator("input")
    if box.count():
        box.first.fill(target["label"])
        box.first.press("Enter")
        return f"typed {target['label']!r} and pressed Enter"
    html = control.evaluate("e => e.outerHTML")[:400]
    raise AssertionError(f"don't know how to move this control: {html}")


def press_slider(handle: Locator, start: int, target: int, count: int) -> str:
    """Home for the first position, End for the last, else arrow keys from `start`."""
    handle.focus()
    if target == 0:
        keys = ["Home"]
    elif target == count - 1:
        keys = ["End"]
    else:
        step = "ArrowRight" if target > start else "ArrowLeft"
        keys = [step] * abs(target - start)
    if not keys:
        return f"slider already at position {target}"
    for key in keys:
        handle.press(key)
    shown = keys[0] if len(keys) == 1 else f"{keys[0]} x{len(keys)}"
    return f"slider: pressed {shown} (position {start} -> {target})"
