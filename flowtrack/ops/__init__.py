"""Running FlowTrack: the `flowtrack` command, migrations, database roles, backup and restore, the demo and benchmark
seeds. Stands above every feature."""
