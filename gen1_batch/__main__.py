from gen1_batch.cli import app

app(prog_name="gen1")
