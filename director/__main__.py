from director.cli.fast import entry

entry()
