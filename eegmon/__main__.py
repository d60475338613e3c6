from eegmon.cli import main

main()
