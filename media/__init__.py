"""videogen's media engine: probe sources, compile a spec into one FFmpeg command, run it.

`media.render.render_video` is the entry point; `media.compiler` builds the filter graph from
the timeline (`media.timeline`), boxes (`media.layout`), text (`media.text`) and sound
(`media.audio`); `media.runner` runs FFmpeg with progress, cancel and timeout.
"""
