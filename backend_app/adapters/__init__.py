"""Adapters: the only modules that import cv2, openai and boto3."""
