from smallville.cli import main

raise SystemExit(main())
