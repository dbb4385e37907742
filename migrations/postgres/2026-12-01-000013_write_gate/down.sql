DROP TABLE write_gate;
