from director.cli.main import run

raise SystemExit(run())
