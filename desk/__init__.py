"""The application: the ``carbon`` command line, and later the nightly job, reports and the
alert store. The only package that touches files, databases and the terminal."""
