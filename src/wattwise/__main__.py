from wattwise.cli.app import run

run()
