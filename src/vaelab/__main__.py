from vaelab.cli.main import main

raise SystemExit(main())
