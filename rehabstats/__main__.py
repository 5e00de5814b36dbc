from rehabstats.cli import main

raise SystemExit(main())
