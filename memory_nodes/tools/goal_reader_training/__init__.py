"""Teaching the goal reader our household language: data from the suite generator, LoRA.

`make_data` writes (instruction, memory context, goal conditions) examples from generated
homes with new seeds, reworded by `wording`; `train` fine-tunes a LoRA adapter on them,
resumably. The ALFRED-L files are never read here: they test whether it generalises.
"""
