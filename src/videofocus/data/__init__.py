"""Data in the one sample format (videofocus.schema): checking it (`validate`), summarising it
(`stats`), converting public datasets into it (`converters`) and synthesising it (`synth`)."""
