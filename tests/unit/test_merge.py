"""Filling templates: placeholders, defaults, modifications, and what is refused (with the field
and the placeholder named); merged values are data, never template syntax."""

from __future__ import annotations

from typing import Any

import pytest

from api.merge import MAX_MODIFICATION_FIELDS, MAX_SHOWN_KEY, check_template, merge, placeholder_uses, render
from schemas.errors import ErrorCode, JobError

TEMPLATE: dict[str, Any] = {
    "width": 640,
    "height": 360,
    "duration": 2,
    "elements": [
        {"id": "bg", "type": "color", "color": "{{brand}}"},
        {"id": "title", "type": "text", "text": "Hello {{ name }}!", "x": "{{x}}", "font_size": 40},
        {"id": "photo", "type": "image", "source": "{{photo}}", "width": "30%"},
    ],
}
DEFAULTS = {"brand": "#ff0000", "x": 10}


def _refused(call: Any, *args: Any, **kwargs: Any) -> JobError:
    with pytest.raises(JobError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    return caught.value


def _fields(error: JobError) -> dict[str, str]:
    return {f["field"]: f["message"] for f in error.details["fields"]}


def test_placeholders_in_order_of_first_use_with_where_they_are() -> None:
    uses = placeholder_uses(TEMPLATE)
    assert list(uses) == ["brand", "name", "x", "photo"]
    assert uses["photo"] == ["elements.2.source"]


def test_a_template_is_checked_with_its_defaults_and_needs_one_for_a_non_text_placeholder() -> None:
    assert check_template(TEMPLATE, DEFAULTS) == ["brand", "name", "x", "photo"]
    fields = _fields(_refused(check_template, TEMPLATE, {"brand": "#ff0000"}))
    assert list(fields) == ["spec.elements.1.x"]
    assert "{{x}} has no default" in fields["spec.elements.1.x"]
    fields = _fields(_refused(check_template, TEMPLATE, {**DEFAULTS, "titel": "x"}))
    assert list(fields) == ["defaults.titel"] and "no {{titel}}" in fields["defaults.titel"]
    fields = _fields(_refused(check_template, {**TEMPLATE, "width": 641}, DEFAULTS))
    assert list(fields) == ["spec.width"]


def test_values_fill_text_in_place_and_whole_values_keep_their_type() -> None:
    spec = render(TEMPLATE, DEFAULTS, {"name": "Ada", "photo": "https://cdn.test/ada.png", "x": 24})
    bg, title, photo = spec.elements
    assert (bg.color, title.text, title.x, photo.source) == (
        "#ff0000",
        "Hello Ada!",
        24.0,
        "https://cdn.test/ada.png",
    )
    spec = render(TEMPLATE, DEFAULTS, {"name": 7, "photo": "p", "brand": "#00ff00"})
    assert (spec.elements[0].color, spec.elements[1].text) == ("#00ff00", "Hello 7!")


@pytest.mark.parametrize(
    "hostile",
    [
        "{{photo}}",
        "{{",
        "}} {{x}",
        'it\'s "quoted" \\ back',
        "'; drawtext=text=pwned:fontsize=99 [v] ; [0:v]",
        "%{localtime} $(rm -rf /)",
    ],
)
def test_merged_values_are_data_never_expanded_again(hostile: str) -> None:
    spec = render(TEMPLATE, DEFAULTS, {"name": hostile, "photo": "https://cdn.test/p.png"})
    assert spec.elements[1].text == f"Hello {hostile}!"
    merged = merge({"a": "{{a}}", "b": "{{b}}"}, {"a": "{{b}}", "b": "x"})
    assert merged.document == {"a": "{{b}}", "b": "x"}


def test_a_hostile_value_in_a_typed_field_is_refused_naming_field_and_placeholder() -> None:
    fields = _fields(
        _refused(render, TEMPLATE, DEFAULTS, {"name": "A", "photo": "p", "x": "0;drawbox=c=red"})
    )
    assert list(fields) == ["elements.1.x"]
    assert "not a length" in fields["elements.1.x"] and "merged from {{x}}" in fields["elements.1.x"]
    fields = _fields(_refused(render, TEMPLATE, DEFAULTS, {"name": "A", "photo": "p", "brand": "red'"}))
    assert list(fields) == ["elements.0.color"]


def test_missing_and_unknown_values_are_named() -> None:
    error = _refused(render, TEMPLATE, DEFAULTS, {"name": "Ada", "nmae": "Ada"})
    fields = _fields(error)
    assert set(fields) == {"merge.photo", "merge.nmae"}
    assert "no value for {{photo}}" in fields["merge.photo"] and "elements.2.source" in fields["merge.photo"]
    assert "merge.photo" in error.message
    fields = _fields(_refused(render, TEMPLATE, DEFAULTS, {"name": "A"}, values_field="inputs"))
    assert list(fields) == ["inputs.photo"]


def test_modifications_set_fields_by_element_id_as_data() -> None:
    spec = render(
        TEMPLATE,
        DEFAULTS,
        {"name": "Ada"},
        {
            "title.text": "{{name}} sale",
            "photo.source": "https://cdn.test/sale.png",
            "title.stroke.color": "#000000",
        },
    )
    _, title, photo = spec.elements
    assert title.text == "{{name}} sale", "a modification's value is not scanned"
    assert photo.source == "https://cdn.test/sale.png", "no merge value needed for a modified field"
    assert title.stroke is not None and title.stroke.color == "#000000"


def test_modifications_find_ids_with_dots_and_refuse_unknown_elements() -> None:
    template = {**TEMPLATE, "elements": [{"id": "clips.0", "type": "text", "text": "a"}]}
    assert render(template, {}, {}, {"clips.0.text": "b"}).elements[0].text == "b"
    fields = _fields(_refused(render, TEMPLATE, DEFAULTS, {"name": "A", "photo": "p"}, {"logo.source": "x"}))
    assert list(fields) == ["modifications.logo.source"] and "bg" in fields["modifications.logo.source"]
    fields = _fields(
        _refused(render, TEMPLATE, DEFAULTS, {"name": "A", "photo": "p"}, {"title.x": {"left": 1}})
    )
    assert list(fields) == ["elements.1.x"], "a modified value is validated like any other"


def test_a_modification_path_is_bounded_before_it_nests() -> None:
    """5,000 dotted fields would nest 5,000 objects deep: past Python's recursion limit."""
    key = "title." + ".".join(["a"] * 5000)
    error = _refused(render, TEMPLATE, DEFAULTS, {"name": "A", "photo": "p"}, {key: 1})
    [(field, message)] = _fields(error).items()
    assert field == f"modifications.{key[:MAX_SHOWN_KEY]}…"
    assert f"at most {MAX_MODIFICATION_FIELDS} dotted fields" in message
    deepest = "title." + ".".join(["a"] * MAX_MODIFICATION_FIELDS)
    merged = merge(TEMPLATE, {**DEFAULTS, "name": "A", "photo": "p"}, modifications={deepest: 1})
    assert merged.document["elements"][1]["a"]["a"]


def test_a_whole_number_of_any_size_is_spliced_as_its_digits() -> None:
    merged = merge({"text": "n = {{n}}"}, {"n": 10**30})
    assert merged.document["text"] == "n = " + "1" + "0" * 30


def test_filling_is_bounded_however_often_a_value_is_used() -> None:
    template = {"a": " ".join(["{{v}}"] * 100), "b": ["{{v}}"] * 100}
    assert len(merge(template, {"v": "x" * 40}, max_text=8_100).document["a"]) == 4_099
    with pytest.raises(JobError) as caught:
        merge(template, {"v": "x" * 1000}, max_text=50_000, values_field="inputs")
    assert caught.value.code == ErrorCode.PAYLOAD_TOO_LARGE
    assert list(_fields(caught.value)) == ["inputs"] and "50000 characters" in caught.value.message
    with pytest.raises(JobError) as caught:
        check_template({"text": "{{v}} {{v}}"}, {"v": "x" * 600}, max_text=1000)
    assert caught.value.code == ErrorCode.PAYLOAD_TOO_LARGE and list(_fields(caught.value)) == ["defaults"]
