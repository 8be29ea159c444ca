"""Answering htmx and plain browsers alike: a page or its fragment, and redirects both follow."""
from flask import make_response, redirect, render_template, request


def is_fragment():
    """Whether htmx asked for a fragment (a history restore needs the whole page)."""
    return request.headers.get("HX-Request") == "true" \
        and request.headers.get("HX-History-Restore-Request") != "true"


def page_or_fragment(page, fragment, status=200, **context):
    """Render the full page, or for htmx only its fragment; caches must tell the two apart."""
    template = fragment if is_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def redirect_to(url):
    """Send the browser to a page: HX-Redirect for htmx (a full load), 303 See Other otherwise."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)
