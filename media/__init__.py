"""videogen's media engine: probe sources, compile a spec into one FFmpeg command, run it.

`media.render.render_video` is the entry point. `media.compiler` builds the filter graph from
the timeline (`media.timeline`), boxes and fit modes (`media.layout`), text (`media.text`),
sound (`media.audio`) and the output encoders (`media.output`); `media.runner` runs FFmpeg
with progress, cancel and timeout; `media.probe` reads what a file holds.
"""
