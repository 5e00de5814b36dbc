"""Step 1 of the flow: the register extract, from file to cohort.

``dictionary`` (the data contract, ``dictionary.yaml``) → ``loading`` (every file format)
→ ``validation`` (the contract checked, every problem at once; ``contract`` holds what it
found) → ``population`` (Tabell 1's flow, the groups and each event's durations). ``synth``
makes seeded synthetic extracts from the ``scenarios``.
"""
