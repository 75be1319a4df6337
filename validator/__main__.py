from validator.cli.validate import main

main()
