"""Video decoding, frame sampling, sign segmentation and camera sources (Qt-free)."""
