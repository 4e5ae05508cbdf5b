"""Video and image I/O: probing, seeking decode, frame sampling with true timestamps, images."""
