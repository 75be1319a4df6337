from validator.service.cli import main

main()
