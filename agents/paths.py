"""Where the shipped prompt files live (the ``prompts`` data folder beside the packages)."""

from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
STYLES_DIR = PROMPTS_DIR / "styles"
JUDGE_PROMPTS_DIR = PROMPTS_DIR / "judge"
CRITERION_NOTES_DIR = JUDGE_PROMPTS_DIR / "criteria"
