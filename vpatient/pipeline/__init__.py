"""The live session as a pipeline of small stages passing typed messages (design.md).

    audio in -> VADStage -> STTStage -> EngineStage -> TTSStage -> output (speaker / files / avatar)

`messages` holds the message types, `stage` the stage contract and the pipeline runner, `stages` the
speech stages and `session` the voice consultation that wires them (file-driven or live).
"""
