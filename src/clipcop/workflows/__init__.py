"""What the commands run: each workflow is a library function a user can import and call."""
