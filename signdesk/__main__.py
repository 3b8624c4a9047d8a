from signdesk.cli import main

raise SystemExit(main())
