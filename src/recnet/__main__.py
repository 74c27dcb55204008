from recnet.cli import main

main()
