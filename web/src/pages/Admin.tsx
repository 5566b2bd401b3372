import { PageTitle, NotAvailable } from '../components/common';

export default function Admin() {
  return (
    <div>
      <PageTitle>Admin</PageTitle>
      <NotAvailable what="Admin" />
    </div>
  );
}
