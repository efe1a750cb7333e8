"""gradfix doctor: run a training program and say where each missing gradient's path was cut."""
