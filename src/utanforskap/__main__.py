from utanforskap.cli import main

main()
