"""The speaking-time accuracy benchmark, run as `python -m bench.speaking_accuracy`.

- `script`: the scripted conversation and its audio (espeak-ng, noise floor, WAV and Opus files)
- `truth`: the conversation placed on the speakers' timelines, its truth, and the scoring
- `drivers`: the tracks published through the real server by bots or headless Chromium
- `report`: the tables and the machine line printed at the end
"""
