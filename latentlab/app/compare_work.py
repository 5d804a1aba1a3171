"""The background work that keeps a CompareState's images, posteriors and rows current, without Qt.

It listens to the state: a hover becomes one decode job (every model of the hovered dimension),
an image one encode job (prepared for each model's image shape, then encoded by each), new
weights of a model a decode and an encode of that model again. These run on the `model` runner,
latest wins. Rows run on a runner of their own (`metrics`), so a hover never waits behind them:
a model card's row is shown at once; any other model is measured ROW_CHUNK images per job, each
job submitting the next, so progress is reported between chunks, `cancel_rows` stops them, and
measuring a model again (its run ended an epoch) replaces the measurement in flight.

Every result returns with the generation (weights) and ticket (request) it was computed for; the
state drops it when either has moved on.
"""

from __future__ import annotations

from functools import partial

from . import jobs
from .compare_models import (
    ROW_CHUNK,
    ComparedModel,
    TestImages,
    card_row,
    chunk_columns,
    comparison_images,
    live_row,
)
from .compare_state import CompareState
from .job_queue import JobRunner

HOVER, ENCODE = "compare hover", "compare encode"        # slots; per-model slots are tuples
HOVER_PRIORITY, ENCODE_PRIORITY = 0, 5


class CompareWork:
    def __init__(self, state: CompareState, model_runner: JobRunner, metrics_runner: JobRunner,
                 live_images: int | None = None):
        from .compare_models import LIVE_IMAGES

        self.state = state
        self.model_runner = model_runner
        self.metrics_runner = metrics_runner
        self.live_images = live_images or LIVE_IMAGES
        self._images: dict[tuple, TestImages] = {}       # per (dataset, binarize, shape, count)
        self._measuring: dict[str, tuple[int, int]] = {}  # model id -> (chunks done, chunks in all)
        self._tokens: dict[str, object] = {}              # model id -> the measurement in flight
        events = state.events
        events.models.connect(self._on_models)
        events.hover.connect(self.decode_hover)
        events.image.connect(self.encode_image)
        events.weights.connect(self._on_weights)

    # -- hover -----------------------------------------------------------------------------------
    def decode_hover(self) -> None:
        state = self.state
        if state.hover is None:
            return
        z, ticket = state.hover[1], state.hover_ticket
        targets = [(m.id, m.generation, m.model) for m in state.hover_targets()]

        def work():
            return [(model_id, generation, jobs.decode_point(model, z)) for model_id, generation, model in targets]

        def done(images):
            for model_id, generation, image in images:
                state.set_hover_image(model_id, image, generation, ticket)

        self.model_runner.submit(HOVER, work, done, priority=HOVER_PRIORITY,
                                 on_error=lambda e: state.say(f"Could not decode the hovered point: {e}"))

    # -- the encoded image ---------------------------------------------------------------------------
    def encode_image(self, models: list[ComparedModel] | None = None, slot=ENCODE) -> None:
        state = self.state
        source, ticket = state.image, state.image_ticket
        if source is None:
            return
        targets = [(m.id, m.generation, m.model, m.image_shape, m.name)
                   for m in (models if models is not None else state.models.values())]

        def work():
            prepared, out = {}, []
            for model_id, generation, model, shape, name in targets:
                try:
                    if shape not in prepared:
                        prepared[shape] = source.prepare(shape).pixels
                    out.append((model_id, generation, jobs.encode_pixels(model, prepared[shape]), None))
                except (ValueError, OSError) as e:     # ImageError is a ValueError: said per model
                    out.append((model_id, generation, None, f"{source.name} cannot be encoded by {name}: {e}"))
            return out

        def done(results):
            for model_id, generation, posterior, note in results:
                if posterior is not None:
                    state.set_posterior(model_id, posterior, generation, ticket)
                else:
                    state.set_image_note(model_id, note, ticket)

        self.model_runner.submit(slot, work, done, priority=ENCODE_PRIORITY,
                                 on_error=lambda e: state.say(f"Could not encode {source.name}: {e}"))

    def _on_weights(self, model_id: str) -> None:
        compared = self.state.models.get(model_id)
        if compared is None:
            return
        if any(m.id == model_id for m in self.state.hover_targets()):
            self.decode_hover()
        if self.state.image is not None:
            self.encode_image([compared], slot=(ENCODE, model_id))

    def _on_models(self) -> None:
        state = self.state
        for model_id in list(self._tokens):
            if model_id not in state.models:
                self._stop(model_id)
        for compared in state.models.values():
            if compared.id not in state.rows and compared.id not in state.row_status:
                self.measure(compared.id)
        self.decode_hover()
        self.encode_image()

    # -- rows --------------------------------------------------------------------------------------------
    def measure(self, model_id: str) -> None:
        """The row of a model: its card's, else measured live (again: the one in flight is dropped)."""
        state = self.state
        compared = state.models.get(model_id)
        if compared is None:
            return
        row = card_row(compared.card) if compared.card else None
        if row is not None:
            state.set_row(model_id, row)
            return
        token = object()
        self._tokens[model_id] = token
        model, generation, exact = compared.model, compared.generation, compared.exact_applies
        data = compared.data or {}
        key = (data.get("dataset"), data.get("binarize"), compared.image_shape, self.live_images)
        self._measuring[model_id] = (0, 1)
        state.set_row_status(model_id, "measuring…")
        self._report_progress()

        def first():
            images = self._images.get(key)
            if images is None:
                images = comparison_images(compared.data, compared.image_shape, self.live_images)
            return images

        def got_images(images: TestImages):
            self._images[key] = images
            chunks = max(1, -(-len(images.pixels) // ROW_CHUNK))
            self._measuring[model_id] = (0, chunks)
            self._next_chunk(model_id, token, model, generation, exact, images, [])

        self.metrics_runner.submit(("row", model_id), first, partial(self._if_current, model_id, token, got_images),
                                   on_error=partial(self._failed, model_id, token))

    def _next_chunk(self, model_id, token, model, generation, exact, images: TestImages, chunks: list) -> None:
        start = len(chunks) * ROW_CHUNK
        if start >= len(images.pixels):
            self._finish(model_id)
            self.state.set_row(model_id, live_row(chunks, images, exact), generation)
            return
        pixels = images.pixels[start:start + ROW_CHUNK]

        def done(columns):
            chunks.append(columns)
            self._measuring[model_id] = (len(chunks), self._measuring.get(model_id, (0, 1))[1])
            self._report_progress()
            self._next_chunk(model_id, token, model, generation, exact, images, chunks)

        self.metrics_runner.submit(("row", model_id), partial(chunk_columns, model, pixels, exact),
                                   partial(self._if_current, model_id, token, done),
                                   on_error=partial(self._failed, model_id, token))

    def _if_current(self, model_id, token, callback, value) -> None:
        if self._tokens.get(model_id) is token:
            callback(value)

    def _failed(self, model_id, token, error: BaseException) -> None:
        if self._tokens.get(model_id) is token:
            self._finish(model_id)
            self.state.set_row_status(model_id, f"no numbers: {error}")

    def _finish(self, model_id: str) -> None:
        self._tokens.pop(model_id, None)
        self._measuring.pop(model_id, None)
        self._report_progress()

    def _stop(self, model_id: str) -> None:
        self.metrics_runner.cancel(("row", model_id))
        self._finish(model_id)

    def cancel_rows(self) -> None:
        """Stop every measurement in flight; their rows say so."""
        for model_id in list(self._tokens):
            self._stop(model_id)
            self.state.set_row_status(model_id, "cancelled")

    def measuring(self) -> list[str]:
        return list(self._tokens)

    def _report_progress(self) -> None:
        done = sum(d for d, _ in self._measuring.values())
        total = sum(t for _, t in self._measuring.values())
        names = [self.state.models[i].name for i in self._measuring if i in self.state.models]
        self.state.set_progress(done, total, f"measuring {', '.join(names)}" if names else "")
