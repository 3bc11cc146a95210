"""Charter rendering: first render in a fresh process, warm p50, peak memory.

The standard charter is the one the rules make for answers of 3 on every factor (an integrated
co-creation charter with its usual protocols), issued at a fixed time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap

WARM_RUNS = 12
TARGET_FIRST_S = 1.5
TARGET_WARM_S = 0.4

# Runs in a fresh interpreter so that the first render pays for every cold cache.
SETUP = textwrap.dedent(
    """
    from assess.factors import FACTOR_KEYS
    decision = evaluate(dict.fromkeys(FACTOR_KEYS, 3), what_if=True)
    details = charter.load_details({
        "project": "Northern Lights: an immersive documentary",
        "parties": [{"side": "producer", "name": "Ann Lee", "role": "Executive Producer"},
                    {"side": "creator", "name": "Bo Chen", "role": "Director"}],
        "consultant": "Clara Diaz", "issued_at": "2026-03-02T09:00:00+00:00",
        "mediators_internal": ["Dana Holt"], "mediators_external": ["Elif Kaya"],
        "revenue_split": {"producer": 55, "creator": 45}})
    """
)

WORKER = (
    textwrap.dedent(
        """
    import json, resource, time, tracemalloc
    started = time.perf_counter()
    from assess import charter
    from assess.charter.pdf import clear_cache
    from assess.engine import evaluate
    imported = time.perf_counter()
    """
    )
    + SETUP
    + textwrap.dedent(
        f"""
    t = time.perf_counter()
    pdf = charter.to_pdf(decision, details)
    first = time.perf_counter() - t
    html_times, warm, cpu = [], [], []
    for _ in range({WARM_RUNS}):
        t, c = time.perf_counter(), time.process_time()
        charter.to_html(decision, details)
        html_times.append(time.perf_counter() - t)
        clear_cache()  # measure a fresh layout, not the per-process cache
        t = time.perf_counter()
        again = charter.to_pdf(decision, details)
        warm.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        assert again == pdf
    t = time.perf_counter()
    charter.to_pdf(decision, details)  # the same charter again: served from the cache
    cached = time.perf_counter() - t
    # Where one warm render spends its time, from WeasyPrint's own progress messages.
    import logging
    from weasyprint.logger import PROGRESS_LOGGER
    marks, messages = {{}}, []
    class Marks(logging.Handler):
        def emit(self, record):
            now = time.perf_counter()
            marks.setdefault(record.getMessage()[:6], now)
            messages.append((record.getMessage(), now))
    handler = Marks()
    PROGRESS_LOGGER.addHandler(handler)
    PROGRESS_LOGGER.setLevel(logging.INFO)
    clear_cache()
    t = time.perf_counter()
    charter.to_pdf(decision, details)
    ended = time.perf_counter()
    PROGRESS_LOGGER.removeHandler(handler)
    steps = ["Step 1", "Step 3", "Step 4", "Step 5", "Step 6", "Step 7"]
    bounds = [t] + [marks[step] for step in steps] + [ended]
    names = ["templates", "HTML parsing", "styles", "boxes", "layout", "drawing", "PDF writing"]
    phases = dict(zip(names, (b - a for a, b in zip(bounds, bounds[1:]))))
    # Pages laid out, re-layouts included: WeasyPrint announces each one it (re)makes.
    layouts = {{}}
    for (message, at), (_, after) in zip(messages, messages[1:]):
        if message.startswith("Step 5 - Creating layout - Page") and "up-to-date" not in message:
            number = int(message.split()[-1])
            count, spent = layouts.get(number, (0, 0.0))
            layouts[number] = (count + 1, spent + after - at)
    # Python allocations of one more render, traced apart from the timed runs (tracing is slow).
    clear_cache()
    tracemalloc.start()
    charter.to_pdf(decision, details)
    peak_python = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # The floor: the charter's own words as bare paragraphs in its body font, without its
    # tables, contents, numbering or running header. What WeasyPrint needs for the text alone.
    import re
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from assess.charter.pdf import BundledAssetFetcher
    from assess.charter.render import stylesheet_text
    body = charter.to_html(decision, details).split("<body>", 1)[1]
    words = re.sub(r"<[^>]+>", " ", body).split()
    plain = "".join("<p>" + " ".join(words[i:i + 60]) + "</p>" for i in range(0, len(words), 60))
    faces = [line for line in stylesheet_text().splitlines() if line.startswith("@font-face")]
    fetcher, fonts = BundledAssetFetcher(), FontConfiguration()
    page = '@page {{ size: A4; margin: 25mm 21mm 22mm 24mm }}'
    body_font = 'html {{ font: 11pt/1.42 "Charter Serif" }}'
    floor_css = " ".join([*faces, page, body_font])
    floor_css = CSS(string=floor_css, font_config=fonts, url_fetcher=fetcher)
    floor = []
    for _ in range(6):
        t = time.perf_counter()
        bare = HTML(string=plain, url_fetcher=fetcher)
        bare = bare.render(stylesheets=[floor_css], font_config=fonts)
        bare.write_pdf(pdf_variant="pdf/a-3b")
        floor.append(time.perf_counter() - t)
    from pypdf import PdfReader
    import io
    print(json.dumps({{
        "import": imported - started, "first": first, "warm": warm, "cpu": cpu,
        "html": html_times, "cached": cached, "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "bytes": len(pdf), "protocols": len(decision.protocols),
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "peak_python": peak_python, "phases": phases, "layouts": layouts,
        "floor": floor[1:], "floor_pages": len(bare.pages), "words": len(words),
    }}))
    """
    )
)


# A serving worker warms the renderer up at start (assess.serving.post_worker_init) before it
# takes requests; this is what its first charter then costs.
WARMED_WORKER = (
    textwrap.dedent(
        """
    import json, time
    from assess import charter
    from assess.charter.pdf import warm_up
    from assess.engine import evaluate
    """
    )
    + SETUP
    + textwrap.dedent(
        """
    t = time.perf_counter()
    warm_up()
    warm_up_s = time.perf_counter() - t
    t = time.perf_counter()
    charter.to_pdf(decision, details)
    print(json.dumps({"warm_up": warm_up_s, "first": time.perf_counter() - t}))
    """
    )
)


def _fresh_interpreter(script: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    figures: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return figures


def measure() -> dict[str, object]:
    """Run the workers in fresh interpreters and return their figures."""
    figures = _fresh_interpreter(WORKER)
    warmed = _fresh_interpreter(WARMED_WORKER)
    figures["warm_up"], figures["first_after_warm_up"] = warmed["warm_up"], warmed["first"]
    return figures


def run() -> str:
    """Measure the standard charter and return a markdown section."""
    f = measure()
    warm = sorted(f["warm"])  # type: ignore[type-var]
    p50 = statistics.median(warm)
    p90 = warm[int(0.9 * (len(warm) - 1))]
    cpu = statistics.median(f["cpu"])  # type: ignore[type-var]
    html = statistics.median(f["html"])  # type: ignore[type-var]
    first = float(f["first"])  # type: ignore[arg-type]
    floor = statistics.median(f["floor"])  # type: ignore[type-var]

    layouts = {int(n): v for n, v in f["layouts"].items()}  # type: ignore[attr-defined]
    made = sum(count for count, _ in layouts.values())
    again = {n: (c, ms) for n, (c, ms) in layouts.items() if c > 1}
    relayouts = f"{made} for {len(layouts)} pages" + "".join(
        f"; page {n} {c} times ({ms * 1000:.0f} ms in all)" for n, (c, ms) in sorted(again.items())
    )

    def verdict(value: float, target: float) -> str:
        return "meets" if value <= target else "misses"

    rows = [
        ("import of `assess.charter` and the engine", f"{float(f['import']):.2f} s", ""),
        (
            "first render (fonts and stylesheet loaded, then layout and PDF)",
            f"{first:.2f} s",
            f"<= {TARGET_FIRST_S} s ({verdict(first, TARGET_FIRST_S)})",
        ),
        ("serving worker warm-up at start (small specimen)", f"{float(f['warm_up']):.2f} s", ""),
        (
            "first charter of a warmed-up serving worker",
            f"{float(f['first_after_warm_up']):.2f} s",
            "",
        ),
        (
            "warm render p50 (wall)",
            f"{p50 * 1000:.0f} ms",
            f"<= {TARGET_WARM_S * 1000:.0f} ms ({verdict(p50, TARGET_WARM_S)})",
        ),
        ("warm render p90 (wall)", f"{p90 * 1000:.0f} ms", ""),
        ("same charter again (per-process cache)", f"{float(f['cached']) * 1000:.2f} ms", ""),
        ("warm render p50 (CPU time of the process)", f"{cpu * 1000:.0f} ms", ""),
        ("of which HTML from the templates, p50", f"{html * 1000:.1f} ms", ""),
        (
            "one warm render by phase (ms)",
            " · ".join(
                f"{name} {seconds * 1000:.0f}"
                for name, seconds in f["phases"].items()  # type: ignore[attr-defined]
            ),
            "",
        ),
        ("warm render per page, p50", f"{p50 * 1000 / int(f['pages']):.0f} ms", ""),
        ("page layouts in one render (WeasyPrint repaginates for page references)", relayouts, ""),
        (
            f"floor: its {f['words']} words as bare paragraphs, p50",
            f"{floor * 1000:.0f} ms ({f['floor_pages']} pages)",
            "",
        ),
        ("peak resident memory of the process", f"{int(f['peak_rss_kib']) / 1024:.0f} MiB", ""),
        (
            "peak Python allocations of one render",
            f"{int(f['peak_python']) / 1024 / 1024:.1f} MiB",
            "",
        ),
    ]
    table = "\n".join(f"| {name} | {value} | {target} |" for name, value, target in rows)
    return (
        "## Charter rendering\n\n"
        f"The standard charter: answers of 3 on every factor, {f['protocols']} protocols, "
        f"{f['pages']} A4 pages, PDF/A-3b of {int(f['bytes']) // 1024} KiB "
        f"(`benchmarks/bench_charter.py`, fresh interpreter, {WARM_RUNS} warm runs).\n\n"
        "| measure | value | target |\n|---|---|---|\n"
        f"{table}\n\n"
        "Every warm render produced the same bytes as the first. Layout and PDF writing\n"
        "(WeasyPrint) take nearly all of the time, which grows with the page count; wall time\n"
        "above CPU time means other processes competed for the cores during the run. These\n"
        "shared virtual machines differ: the same benchmark has given a warm p50 from 0.9 s to\n"
        "1.26 s on Intel Xeon machines and from 0.66 s to 2.4 s on AMD EPYC ones, and a first\n"
        "render from 0.81 s to 2.3 s; compare figures within one run.\n\n"
        "Why the warm target is out of reach: the charter's words alone, set as bare\n"
        f"paragraphs, take {floor * 1000:.0f} ms, {floor / TARGET_WARM_S:.0%} of the target for "
        "the whole charter; its "
        "structure\n(tables, numbered clauses, the contents with page references, the running "
        "header)\nmultiplies that, spread over many constructs rather than one.\n"
        "What helped: the charter's own user-agent stylesheet (`templates/charter/ua.css`).\n"
        "WeasyPrint's default one matches every element against rules for forms, bidi\n"
        "attributes and elements a charter never holds; that cascade cost 150 to 200 ms of\n"
        "each render (about a tenth) and now costs under 40 ms, with the pages unchanged to\n"
        "the pixel (a test compares them).\n\n"
        "Where the rest goes, by rendering the same charter without one construct (CPU time,\n"
        "alternating runs in one process): the contents page about 15% (WeasyPrint lays it\n"
        "out three times: once before the headings are placed, once with their page numbers,\n"
        "and once more because it also records those numbers as local page counters, which\n"
        "change when the total page count becomes known: `compute_content_list` in\n"
        "WeasyPrint's `formatting_structure/build.py` reuses the name `missing_counters` for\n"
        "a target's list, so each target-counter() also files `page` as a missing counter of\n"
        "its own box, and that entry is what fills the numbers in: taken away, they print 0);\n"
        "the running header and footer\n"
        "under 8%; the radar chart 4% (WeasyPrint sets SVG text letter by letter); parsing\n"
        "the HTML 4%.\n"
        "Measured and set aside, as shares of the Python calls WeasyPrint makes for one\n"
        "charter (a count, free of the machine's noise):\n\n"
        "- the contents' page numbers by target-counter(): about 13%; laying the contents out\n"
        "  again on their own once every heading is placed costs 9% of it back, so a second\n"
        "  pass saves 4% for much more code; placing the contents after the appendices (every\n"
        "  heading placed by then) and moving their page behind the cover saves nothing:\n"
        "  WeasyPrint still lays that page out three times;\n"
        "- the float that right-aligns those numbers: 5% (absolute positioning saves half);\n"
        "- the lettered clause markers (absolutely positioned): 3%; the two-column list of\n"
        "  dimensions: 3%; the month table of the calendar: 3%; inline blocks: 3%;\n"
        "- fixed cost of a document (one line, styles parsed, fonts loaded): under 10 ms;\n"
        "- dropping overflow-wrap, letter-spacing, text-transform, break rules or orphans,\n"
        "  one font family per text instead of a list with fallbacks, tuning the garbage\n"
        "  collector, or Python 3.12 or 3.13 instead of 3.11: within the noise.\n"
    )


if __name__ == "__main__":
    print(run())
