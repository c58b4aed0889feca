"""Serial (RS-232) autoloaders: the command table, the link, and the driver that sequences the moves."""
