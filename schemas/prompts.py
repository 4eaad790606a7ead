"""Seed 002's prompt-to-video jobs: `POST /api/videos/generate` and `GET /api/videos/{jobId}`, in the
seed's camelCase shapes, every answer wrapped in `{"success": ...}`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.events import AspectRatio, PromptStyle
from schemas.responses import ErrorBody

MAX_PROMPT = 1000
MIN_DURATION, MAX_DURATION = 1.0, 60.0


class PromptVideoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(..., min_length=1, max_length=MAX_PROMPT, description="What the video is about.")
    style: PromptStyle = Field(
        ..., description="fun (quick, bright), calm (slow, soft), background (ambient)"
    )
    duration: float = Field(..., ge=MIN_DURATION, le=MAX_DURATION, description="Seconds.")
    aspectRatio: AspectRatio

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class PromptJobCreated(BaseModel):
    jobId: str
    status: Literal["queued"] = "queued"


class PromptCreated(BaseModel):
    success: Literal[True] = True
    data: PromptJobCreated


class PromptJob(BaseModel):
    jobId: str
    status: Literal["queued", "processing", "completed", "failed"]
    videoUrl: str | None = Field(None, description="Set once completed.")
    errorMessage: str | None = Field(None, description="Set once failed (a cancelled job has failed too).")
    prompt: str
    style: PromptStyle
    duration: float
    aspectRatio: AspectRatio
    createdAt: str | None
    updatedAt: str


class PromptJobFound(BaseModel):
    success: Literal[True] = True
    data: PromptJob


class PromptFailure(BaseModel):
    """Every refusal of these routes: our error envelope's body, under the seed's `success: false`."""

    success: Literal[False] = False
    error: ErrorBody
