from survmig.cli import main

main()
