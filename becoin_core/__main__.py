from becoin_core.cli import main

raise SystemExit(main())
